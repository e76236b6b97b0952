"""Clone strategy graphs: blocks, validation, storage, asset selection, control modes, read plans and packets."""
