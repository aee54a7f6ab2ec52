"""Training: the LightningModule that trains any net with any loss, and what a run needs around
it (config checks, checkpoints that survive a kill, loggers, callbacks, schedulers)."""
