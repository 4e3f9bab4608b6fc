"""The parts that talk to conda; imported only from ``plugin`` hooks or when conda is present."""
