"""Learning rules that are more than a surrogate gradient: one subpackage per rule."""
