namespace Salient;

/// <summary>
/// A problem the user can fix (a missing file, a bad CSV row, a wrong setting). Its message is one
/// sentence naming the file or setting and the fix; the command prints it without a stack trace.
/// </summary>
public sealed class SalientException(string message, Exception? inner = null) : Exception(message, inner);
