"""Citizen self-service pages."""
