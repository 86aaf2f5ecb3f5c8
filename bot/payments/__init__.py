"""Payments: UPI payment links, gateways, and the callbacks that confirm purchases."""
