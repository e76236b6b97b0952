"""clash_pipeline: the paper-trading runtime of Clash of Clones."""
