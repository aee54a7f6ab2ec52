"""`python -m colorizer.bench`: the speed benchmarks, one section per measured job."""
