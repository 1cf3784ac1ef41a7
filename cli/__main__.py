from mi_exercise.launch import entry

entry()
