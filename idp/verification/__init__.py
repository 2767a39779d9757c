"""Identity documents and real-name verification."""
