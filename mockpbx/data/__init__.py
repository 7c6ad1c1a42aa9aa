"""Where calls come from: fixture files and the seeded generator."""
