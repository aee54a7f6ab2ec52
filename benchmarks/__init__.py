"""`python -m benchmarks`: the speed benchmarks, one section per measured job."""
