from charprobe.main import main

main()
