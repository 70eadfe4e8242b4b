// Intentionally empty: CLinux only exposes headers and inline helpers (see include/CLinux.h).
