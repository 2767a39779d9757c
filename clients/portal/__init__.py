"""Sample web portal (confidential client) used by the demo and the browser tests."""
