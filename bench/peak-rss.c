/* peak-rss: runs a command and writes its peak RSS (ru_maxrss, KiB) and CPU time to a file.  The
 * benchmark cannot take this from Python's own wait4(): at exec the kernel folds the old address
 * space's high-water mark into the child's ru_maxrss, and a child spawned by Python starts in
 * Python's address space, so every figure would be at least Python's RSS.  A parent this small
 * keeps that floor near 1 MB. */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
	struct rusage ru;
	FILE *result;
	int status;
	pid_t pid;

	if (argc < 3) {
		fprintf (stderr, "usage: peak-rss RESULT_FILE PROG [ARG...]\n");
		return 64;
	}
	if ((pid = fork ()) == -1) {
		perror ("peak-rss: fork");
		return 71;
	}
	if (pid == 0) {
		execvp (argv[2], argv + 2);
		fprintf (stderr, "peak-rss: %s: %m\n", argv[2]);
		_exit (127);
	}
	while (wait4 (pid, &status, 0, &ru) == -1)
		if (errno != EINTR) {
			perror ("peak-rss: wait4");
			return 71;
		}
	if ((result = fopen (argv[1], "w")) == NULL) {
		perror ("peak-rss: result file");
		return 73;
	}
	fprintf (result, "%ld %ld.%06ld %ld.%06ld\n", ru.ru_maxrss, (long) ru.ru_utime.tv_sec,
		 (long) ru.ru_utime.tv_usec, (long) ru.ru_stime.tv_sec, (long) ru.ru_stime.tv_usec);
	if (fclose (result) != 0)
		return 74;
	return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}
