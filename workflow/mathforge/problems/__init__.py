"""The problems artifact family: extraction, classification, answer extraction, merge."""
