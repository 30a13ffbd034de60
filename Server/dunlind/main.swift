print("dunlind")
