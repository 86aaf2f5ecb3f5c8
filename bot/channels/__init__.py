"""Channel adapters: provider payloads in, provider calls out. No course knowledge here."""
