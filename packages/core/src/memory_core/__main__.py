"""``python -m memory_core`` runs the command-line interface."""

from memory_core.cli import main

if __name__ == "__main__":
    main()
