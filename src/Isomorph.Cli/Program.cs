using Isomorph.Cli;

return IsomorphCommand.Run(args);
