"""The third-party processors the ALLCOT privacy policy names, for PRIVACY_PROCESSORS."""

from __future__ import annotations

GOOGLE_POLICY = "https://policies.google.com/privacy"

PROCESSORS: list[dict[str, str]] = [
    {
        "name": "Google / G Suite",
        "purpose": "Internal email and correspondence with customers",
        "category": "necessary",
        "policy_url": GOOGLE_POLICY,
    },
    {
        "name": "Google Analytics",
        "purpose": "Aggregated statistics about visits to our sites",
        "category": "analytics",
        "policy_url": GOOGLE_POLICY,
        "opt_out_url": "https://tools.google.com/dlpage/gaoptout/",
    },
    {
        "name": "MailChimp",
        "purpose": "Marketing email, only to those who opted in",
        "category": "marketing",
        "policy_url": "https://mailchimp.com/legal/privacy/",
    },
    {
        "name": "Google AdSense & DoubleClick",
        "purpose": "Advertising across platforms",
        "category": "marketing",
        "policy_url": GOOGLE_POLICY,
        "opt_out_url": "https://adssettings.google.com/",
    },
    {
        "name": "Twitter",
        "purpose": "Social media advertising and pixels",
        "category": "marketing",
        "policy_url": "https://twitter.com/privacy",
        "opt_out_url": "https://twitter.com/settings/personalization",
    },
    {
        "name": "Facebook",
        "purpose": "Social media advertising and pixels",
        "category": "marketing",
        "policy_url": "https://www.facebook.com/privacy/policy/",
        "opt_out_url": "https://www.facebook.com/settings/?tab=ads",
    },
    {
        "name": "Pipelinedeals",
        "purpose": "Business analytics, CRM and subscription records of Enterprise customers",
        "category": "necessary",
        "policy_url": "https://www.pipelinedeals.com/privacy",
    },
    {
        "name": "PayPal",
        "purpose": "Payment transactions",
        "category": "necessary",
        "policy_url": "https://www.paypal.com/webapps/mpp/ua/privacy-full",
    },
    {
        "name": "Stripe",
        "purpose": "Payment transactions",
        "category": "necessary",
        "policy_url": "https://stripe.com/us/privacy",
    },
    {
        "name": "Digital Ocean",
        "purpose": "Hosting of our sites and their data",
        "category": "necessary",
        "policy_url": "https://www.digitalocean.com/legal/privacy-policy",
    },
]
