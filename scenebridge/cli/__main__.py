from scenebridge.cli import main

main()
