mod examples;
mod flows;
mod reauthorize;
