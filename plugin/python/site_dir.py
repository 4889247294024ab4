"""site_dir.py PREFIX: where meson installs the mimeutf8 package for this interpreter."""
import sys
import sysconfig

prefix = sys.argv[1]
if prefix == "/usr/local":
    # the interpreter's own default (Debian: /usr/local/lib/python3.X/dist-packages, on its path)
    print(sysconfig.get_path("platlib"))
else:
    print(sysconfig.get_path("platlib", "posix_prefix", vars={"base": prefix, "platbase": prefix}))
