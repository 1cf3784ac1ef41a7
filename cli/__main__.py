from mi_exercise.commands import main

main()
