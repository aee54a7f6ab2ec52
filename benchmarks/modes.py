"""The bench's modes (smoke, quick, full): how many repeats, images and steps each section takes."""

MODES = {
    # loader sizes and runs, naive images; training (size, batch, runs) and steps per run;
    # predict images and runs; scale counts; sections run unless --sections names others.
    # Quick keeps the pixels per batch about constant.
    "smoke": dict(loader_sizes=[32], loader_runs=1, naive=32, train=[(32, 4, 1)], steps=4, predict=2,
                  predict_runs=1, scale=[2000], stream=2000, files=64, app=2, video_frames=8, start_runs=1,
                  serve=dict(per_level=6, levels=[1, 4], soak_s=3),
                  sections=["loader", "training", "prediction", "cache_start", "scale", "time_to_quality", "app",
                            "video"]),
    "quick": dict(loader_sizes=[64, 150], loader_runs=3, naive=300, train=[(64, 16, 2), (150, 4, 1), (224, 2, 1)],
                  steps=12, predict=48, predict_runs=3, scale=[7129, 100_000], stream=100_000, files=600, app=10,
                  video_frames=48, start_runs=3, serve=dict(per_level=96, levels=[1, 8, 32], soak_s=60),
                  sections=["loader", "training", "prediction", "cache_start", "scale", "app", "video"]),
    "full": dict(loader_sizes=[64, 150], loader_runs=5, naive=1000, train=[(64, 32, 3), (150, 32, 3), (224, 32, 3)],
                 steps=16, predict=96, predict_runs=3, scale=[7129, 100_000, 1_000_000], stream=100_000, files=2000,
                 app=20, video_frames=96, start_runs=3, serve=dict(per_level=256, levels=[1, 8, 32], soak_s=180),
                 sections=["loader", "training", "prediction", "cache_start", "scale", "time_to_quality", "app",
                           "video"]),
}  # fmt: skip
# The smoke form of time to quality: a few steps on synthetic images, targets any model reaches.
SMOKE_QUALITY_DATA = [
    "data=synthetic",
    "data.source.num_images=48",
    "data.image_size=32",
    "data.batch_size=8",
    "trainer.max_epochs=1",
    "trainer.val_check_interval=1.0",
    "trainer.log_every_n_steps=1",
]
QUALITY_TARGETS = {"smoke": [-40.0, -30.0], "quick": [1.0, 1.4], "full": [1.0, 1.4]}
