"""An insurance-claims system, written the way a platform team would write its own."""
