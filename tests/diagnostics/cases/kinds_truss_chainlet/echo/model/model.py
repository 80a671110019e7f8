class Model:
    def predict(self, model_input):
        return model_input
