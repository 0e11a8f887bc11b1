"""Loaded by the Voila servers the browser tests start, and by their kernels (this folder is on their
PYTHONPATH): SIGUSR1 makes the process print every thread's stack to stderr (the Voila log), so a browser
test that fails on a hung kernel shows where it hangs."""

import faulthandler
import signal

faulthandler.register(signal.SIGUSR1, all_threads=True)
