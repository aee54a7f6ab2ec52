"""What the tests share: configs, commands, images, TensorBoard events, servers and browsers."""
