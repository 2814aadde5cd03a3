using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Realtime.Grains;

public static class OptionsSectionExtensions
{
    /// <summary>
    /// Binds <typeparamref name="TOptions"/> to a configuration section and validates its data
    /// annotations at start-up, reporting each failure by its full key
    /// (<c>Realtime:Limits:MaxFrameBytes: …</c>) so the operator knows what to change.
    /// </summary>
    public static OptionsBuilder<TOptions> BindSection<TOptions>(this OptionsBuilder<TOptions> builder, string section)
        where TOptions : class
    {
        builder.BindConfiguration(section);
        builder.Services.AddSingleton<IValidateOptions<TOptions>>(new SectionValidator<TOptions>(builder.Name, section));
        return builder.ValidateOnStart();
    }

    private sealed class SectionValidator<TOptions>(string? name, string section) : IValidateOptions<TOptions>
        where TOptions : class
    {
        public ValidateOptionsResult Validate(string? optionsName, TOptions options)
        {
            if (name is not null && name != optionsName)
            {
                return ValidateOptionsResult.Skip;
            }

            var results = new List<ValidationResult>();
            if (Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
            {
                return ValidateOptionsResult.Success;
            }

            return ValidateOptionsResult.Fail(results.Select(r => r.MemberNames.Any()
                ? $"{section}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"
                : r.ErrorMessage ?? $"{section} is invalid"));
        }
    }
}
