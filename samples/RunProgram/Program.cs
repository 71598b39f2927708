using Isomorph;

var exit = new LinuxProgram(args[0], args[1..])
{
    StandardInput = Console.OpenStandardInput(),
    StandardOutput = Console.OpenStandardOutput(),
    StandardError = Console.OpenStandardError(),
}.Run();
Console.WriteLine($"exit status {exit.ShellStatus} after {exit.Instructions} instructions");
return exit.ShellStatus;
