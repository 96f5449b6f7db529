"""Offline evaluation: ranking accuracy, transfer and explanation quality on real scenes."""
