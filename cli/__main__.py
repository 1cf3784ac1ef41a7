from mi_exercise.commands import entry

entry()
