import ArgumentParser

@main
struct Coordinator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bookrec-coordinator",
        abstract: "Imports the catalog, trains the model and runs encoding and scoring jobs over RabbitMQ.",
        discussion: """
            The broker comes from BOOKREC_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/) and the \
            store from --store or BOOKREC_STORE. Credentials are never taken from arguments.
            """,
        subcommands: [
            ImportCommand.self, RunCommand.self, AddBooksCommand.self, AddRatingsCommand.self, RollbackCommand.self,
            GarbageCollectCommand.self, ServeCommand.self, EvaluateCommand.self, EvaluateGenerationCommand.self,
        ])
}
