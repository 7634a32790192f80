from pressplay.cli import main

raise SystemExit(main())
