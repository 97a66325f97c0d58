"""Every job handler, imported in one place (as ``tocsin/models.py`` does for tables).

Workers call :func:`tocsin.jobs.registry.load_handlers`, which imports this module, so a
domain's handlers are known exactly when its module is imported here. Add one line per
domain that registers handlers with ``@tocsin.jobs.registry.handler("kind")``, e.g.::

    import tocsin.escalation.handlers  # noqa: F401

Tests and deployments can load more modules with ``TOCSIN_HANDLER_MODULES``.
"""

import tocsin.alerts.handlers
import tocsin.comms.handlers
import tocsin.escalation.handlers
import tocsin.notify.handlers as _notify  # noqa: F401
import tocsin.notify.pages as _pages  # noqa: F401
import tocsin.postmortems.handlers  # noqa: F401
import tocsin.statuspage.handlers as _statuspage  # noqa: F401
