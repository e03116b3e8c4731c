"""Building the deployment package (`make package`) and running its functions as Lambda would (`make invoke`)."""
