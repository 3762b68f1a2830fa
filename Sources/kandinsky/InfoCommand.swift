import ArgumentParser
import KandinskyCore

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Print the tensors of .npy and .safetensors files.")
    @Argument(help: "Files to describe.") var files: [String]
    func run() throws { }
}
