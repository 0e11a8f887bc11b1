"""How the dashboard's Voilà server is set up: the settings the demo command, Binder and the tests share.

Three things go wrong with Voilà's defaults when the dashboard is served to many page views:

- **Blank pages on a busy machine.** The app's cell sends hundreds of widget messages; Voilà waits 4 s for
  them to drain, then drops the cell's output. :data:`IOPUB_TIMEOUT_S` gives it a minute.
- **Every page view leaks a kernel.** When a tab closes, Voilà's page sends a shutdown beacon with the
  ``_xsrf`` cookie, but Voilà's page handler never sets that cookie, so the server refuses the beacon (403,
  voila-dashboards/voila#1458) and the kernel, with the whole dashboard in it, lives until the server
  stops. :func:`give_the_page_its_xsrf_cookie` sets the cookie when the page is served.
- **Kernels whose page never said goodbye** (a crashed tab, a lost network, a script that fetched the page)
  are culled once they have had no connection and no activity for :data:`CULL_IDLE_TIMEOUT_S`. Kernels with
  an open page are never culled, however long the user looks at it.

And one thing goes wrong for the people using it:

- **A visitor inherits another's login.** Every page's kernel runs as the same operating-system user, so
  a token cache in the user's config folder would log each visitor in as whoever logged in first. Under
  Voila the package is in served mode (:func:`worldcereal_explorer.config.served_mode`): no login is
  remembered, tokens stay in the page's kernel and end with it. Only a server that one person alone can
  reach may turn the token cache back on, with ``--single-person-server-remember-login`` here,
  ``configure(c, single_person_server_remember_login=True)``, or the setting of that name in the config
  file; a warning is logged at start-up while it is on.

Standalone, ``python -m worldcereal_explorer.voila_setup [--single-person-server-remember-login] NOTEBOOK
[voila options]`` is ``voila`` with these settings (options given on the command line still win). Inside a
Jupyter server (Binder), a config file calls :func:`configure`
(``binder/jupyter-config/jupyter_server_config.py``).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from .config import ENV_SINGLE_PERSON_SERVER_REMEMBER_LOGIN, resolve_setting

log = logging.getLogger(__name__)

#: The command-line flag of :func:`main` that turns the token cache on for a single-person server.
REMEMBER_LOGIN_FLAG = "--single-person-server-remember-login"

#: Seconds Voilà waits for the app cell's output messages before it gives up on them.
IOPUB_TIMEOUT_S = 60
#: JupyterLab extensions the dashboard's pages do not load (editor plugins, not widgets).
LAB_ONLY_EXTENSIONS = ("jupyterlab-jupytext",)
#: Seconds a kernel with no open page and no activity lives before the server shuts it down.
CULL_IDLE_TIMEOUT_S = 900
#: Seconds between two looks for such kernels.
CULL_INTERVAL_S = 60


def give_the_page_its_xsrf_cookie(request_handler: Any, notebook: Any = None, cwd: str | None = None) -> None:
    """Voilà ``prelaunch_hook``: set the ``_xsrf`` cookie on the dashboard page's response.

    Reading ``xsrf_token`` is what makes tornado set the cookie. The page's unload beacon (which asks the
    server to shut the page's kernel down) carries it; without it the server answers 403 and the kernel
    stays. The notebook is left as it is (returning ``None`` tells Voilà so).
    """
    request_handler.xsrf_token  # noqa: B018 - read for its side effect: tornado sets the cookie


def configure(c: Any, *, single_person_server_remember_login: bool | None = None) -> None:
    """Put the dashboard's Voilà settings into a traitlets config object ``c``.

    Parameters
    ----------
    c
        A ``traitlets.config.Config`` (in a Jupyter config file it is the ``c`` the file is given).
    single_person_server_remember_login
        ``True`` lets the page kernels remember logins in the token cache, which every visitor then
        shares: only for a server one person alone can reach. ``None`` keeps the setting of that name
        (environment, config file; default off). Its value reaches the kernels through the environment
        they inherit; a warning is logged when it is on.
    """
    if single_person_server_remember_login is not None:
        os.environ[ENV_SINGLE_PERSON_SERVER_REMEMBER_LOGIN] = "true" if single_person_server_remember_login else "false"
    if resolve_setting("single_person_server_remember_login").value:
        log.warning(
            "single_person_server_remember_login is on: every visitor of this Voila server uses the login "
            "remembered in the token cache. Only use it on a server that one person alone can reach."
        )
    c.VoilaExecutor.iopub_timeout = IOPUB_TIMEOUT_S
    c.VoilaConfiguration.prelaunch_hook = give_the_page_its_xsrf_cookie
    # JupyterLab editor plugins found in the environment have no part in a dashboard page; Voila would load
    # them anyway, and jupytext's (there for the docs build) fails there with an error in every visitor's console.
    c.VoilaConfiguration.extension_denylist = list(LAB_ONLY_EXTENSIONS)
    c.MappingKernelManager.cull_idle_timeout = CULL_IDLE_TIMEOUT_S
    c.MappingKernelManager.cull_interval = CULL_INTERVAL_S
    c.MappingKernelManager.cull_connected = False


def main(argv: list[str] | None = None) -> None:
    """Run Voilà with :func:`configure`'s settings; ``argv`` are Voilà's own arguments, plus
    :data:`REMEMBER_LOGIN_FLAG` to remember logins on a single-person server."""
    from traitlets.config import Config
    from voila.app import Voila

    arguments = list(sys.argv[1:] if argv is None else argv)
    remember = REMEMBER_LOGIN_FLAG in arguments
    arguments = [argument for argument in arguments if argument != REMEMBER_LOGIN_FLAG]
    logging.basicConfig(format="[%(levelname)s %(name)s] %(message)s")
    config = Config()
    configure(config, single_person_server_remember_login=True if remember else None)
    Voila.launch_instance(argv=arguments, config=config)


if __name__ == "__main__":
    main()
