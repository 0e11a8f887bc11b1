# Binder's Jupyter server (and Voila inside it) reads this file: binder/start puts this folder on
# JUPYTER_CONFIG_PATH. The settings are the ones `worldcereal-explorer demo` gives its Voila server
# (IOPub timeout, a kernel shut down when its page closes, kernels with no page culled); see
# worldcereal_explorer/voila_setup.py.
from worldcereal_explorer.voila_setup import configure

configure(c)  # noqa: F821 - `c` is the config object Jupyter hands its config files
