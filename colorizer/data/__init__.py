"""Data: image files -> decode cache -> batches of sRGB on the device -> Lab (`transforms.lab_batch`).

Import the submodules directly (`colorizer.data.datamodule`, `colorizer.data.images`, ...): this
package imports nothing, so inference can read photos without loading Lightning.
"""
