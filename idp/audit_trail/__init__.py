"""The audit trail beyond the writer (idp/audit.py): the hash chain that makes it tamper-evident,
verification, officer search and export, and archiving of records past their retention."""
