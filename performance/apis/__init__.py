"""Performance's API viewsets, by topic: ``kpis``, ``returns`` (the reporting
calendar and returns), ``signals`` (signals and risk scores), on the bases in
``oversight.api``; routed by ``performance/api_urls.py``."""
