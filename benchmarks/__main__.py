from colorizer.bench.cli import main

main()
