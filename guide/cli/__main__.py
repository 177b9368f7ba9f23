from guide.cli.commands import main

main()
