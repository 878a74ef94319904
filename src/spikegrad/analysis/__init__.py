"""Metrics, activity statistics and plots of trained spiking networks."""
