"""What several test modules share, one module per concern; test modules import from here,
never from each other (nor from conftest.py, which keeps only the fixtures)."""
