"""The officer console (三员分立): system admin, security officer and auditor, each reaching only
their own pages and APIs (access.py), every action audited."""
