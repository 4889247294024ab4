/* spin: the machine's own ceiling for scaling with cores.  `spin N` runs the same fixed
 * CPU-bound loop (no memory traffic, no system calls) in N processes at once and waits for them;
 * on N free cores it takes as long as `spin 1`.  bench/run.py and dask_bench.py print the
 * throughput of `spin 2` against `spin 1` beside the -j2 and two-worker ratios, so that a
 * ratio can be read against what any program gets on the machine at that time.
 *   spin [PROCESSES [ITERATIONS]]   (1 and 10^9 by default) */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void
loop (unsigned long iterations)
{
	volatile unsigned long x = 0;
	unsigned long i;

	for (i = 0; i < iterations; i++)
		x += i * i;
}

int
main (int argc, char **argv)
{
	long processes = argc > 1 ? strtol (argv[1], NULL, 10) : 1;
	unsigned long iterations = argc > 2 ? strtoul (argv[2], NULL, 10) : 1000000000UL;
	int status = 0, child_status;
	long i;

	if (processes < 1 || processes > 64 || iterations == 0) {
		fprintf (stderr, "usage: spin [PROCESSES (1-64) [ITERATIONS]]\n");
		return 64;
	}
	for (i = 0; i < processes; i++) {
		pid_t pid = fork ();

		if (pid < 0) {
			perror ("spin: fork");
			return 71;
		}
		if (pid == 0) {
			loop (iterations);
			_exit (0);
		}
	}
	while (wait (&child_status) > 0)
		if (!WIFEXITED (child_status) || WEXITSTATUS (child_status) != 0)
			status = 1;
	return status;
}
