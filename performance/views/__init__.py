"""Performance's pages, by topic: ``returns`` (what is due and how providers
report), ``entry`` (entering and reviewing a return), ``kpis`` (the KPI library
and a contract's KPIs), ``signals`` (a signal's page and its acknowledgement).
The contract dashboard is the register's page; performance's panel on it is
``performance.dashboard``."""
