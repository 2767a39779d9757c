"""gunicorn settings read from the working directory (`gunicorn wsgi:app`).

Access log lines carry the path without its query string: authorization requests, logout
requests and callbacks carry codes and ID tokens there, and logs must never hold anything that
could be replayed.
"""

import os

bind = os.environ.get("TONGBAN_BIND", "127.0.0.1:5000")
# Measured in bench/ (bench/README.md, "gunicorn workers"): per core, one gthread worker with
# four threads serves best; more threads or workers per core add latency and memory, not speed.
worker_class = os.environ.get("TONGBAN_WORKER_CLASS", "gthread")
workers = int(os.environ.get("TONGBAN_WORKERS", str(os.cpu_count() or 1)))
threads = int(os.environ.get("TONGBAN_THREADS", "4"))
accesslog = os.environ.get("TONGBAN_ACCESS_LOG", "-")
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
# Behind a load balancer: trust X-Forwarded-* only from it (see TONGBAN_TRUST_PROXY).
forwarded_allow_ips = os.environ.get("TONGBAN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# The control socket's default path is shared by every gunicorn on the machine; nothing here
# uses it, so several nodes (or the demo beside the tests) never step on each other.
control_socket_disable = True
