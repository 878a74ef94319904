"""Seeded generators of small spike-train learning problems (inputs and desired output trains)."""
